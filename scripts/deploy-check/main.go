// Command deploy-check loads the deployment files with the loaders their own tools use, so that
// test/deploy/compose.test.ts checks what Docker Compose and Prometheus would accept, not what a
// generic YAML parser makes of them. scripts/install-deploy-tools.sh builds it into the cache.
//
//	deploy-check compose [-env-file FILE]... [-profile NAME]... docker-compose.yml
//
// Loads a compose file with the Compose Specification's reference loader
// (github.com/compose-spec/compose-go, the library `docker compose` itself is built on): schema
// validation, `${VAR:?message}` interpolation from the env files, merge keys, profiles, and the
// consistency checks (unknown services in depends_on, undefined volumes, ...). Prints the resolved
// project as JSON. Only the env files given are read (no process environment, no implicit .env),
// so the result does not depend on the shell that runs it.
//
//	deploy-check rules FILE...
//
// Parses Prometheus rule files with Prometheus's own rule-file parser (model/rulefmt, what
// `promtool check rules` runs: YAML structure, PromQL of every expr, label and annotation
// templates, durations) and refuses duplicate rules as promtool's lint does. Prints every rule
// with the metric names its expression selects, as JSON.
//
// Either subcommand exits 1 with the loader's messages on stderr when a file does not load.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "compose":
		compose(os.Args[2:])
	case "rules":
		rules(os.Args[2:])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: deploy-check compose [-env-file FILE]... [-profile NAME]... docker-compose.yml")
	fmt.Fprintln(os.Stderr, "       deploy-check rules FILE...")
	os.Exit(2)
}

func compose(args []string) {
	fs := flag.NewFlagSet("compose", flag.ExitOnError)
	var envFiles, profiles list
	fs.Var(&envFiles, "env-file", "env file for interpolation (repeatable; later files override earlier ones)")
	fs.Var(&profiles, "profile", `profile to enable (repeatable; "*" enables all)`)
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	file, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		fail(err)
	}
	// No env file given would make the loader fall back to ./.env: read an empty file instead.
	if len(envFiles) == 0 {
		envFiles = list{os.DevNull}
	}
	opts, err := cli.NewProjectOptions(
		[]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(append(out, '\n'))
}

type ruleOut struct {
	Group       string            `json:"group"`
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Metric names the expression selects (vector and matrix selectors), sorted.
	Metrics []string `json:"metrics"`
}

func rules(files []string) {
	if len(files) == 0 {
		usage()
	}
	var out []ruleOut
	failed := false
	for _, f := range files {
		groups, errs := rulefmt.ParseFile(f)
		if len(errs) > 0 {
			failed = true
			for _, e := range errs {
				fmt.Fprintf(os.Stderr, "%s: %v\n", f, e)
			}
			continue
		}
		seen := map[string]bool{}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				// promtool's duplicate-rule lint: same alert/record name and the same labels.
				key := r.Alert.Value + "\x00" + r.Record.Value + "\x00" + fmt.Sprint(sortedPairs(r.Labels))
				if seen[key] {
					failed = true
					fmt.Fprintf(os.Stderr, "%s: duplicate rule %s%s\n", f, r.Alert.Value, r.Record.Value)
				}
				seen[key] = true
				expr, err := parser.ParseExpr(r.Expr.Value)
				if err != nil { // rulefmt has parsed it already; kept for the selectors below
					fail(err)
				}
				names := map[string]bool{}
				parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
					if vs, ok := node.(*parser.VectorSelector); ok {
						names[metricName(vs)] = true
					}
					return nil
				})
				metrics := make([]string, 0, len(names))
				for n := range names {
					metrics = append(metrics, n)
				}
				sort.Strings(metrics)
				o := ruleOut{
					Group: g.Name, Alert: r.Alert.Value, Record: r.Record.Value, Expr: r.Expr.Value,
					Labels: r.Labels, Annotations: r.Annotations, Metrics: metrics,
				}
				if r.For != 0 {
					o.For = r.For.String()
				}
				out = append(out, o)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

// The selector's metric name: `foo{...}` or `{__name__="foo"}`.
func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == "__name__" {
			return m.Value
		}
	}
	return ""
}

func sortedPairs(m map[string]string) []string {
	pairs := make([]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return pairs
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
