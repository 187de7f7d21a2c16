// The official `cronofy` SDK ships no types; only what the contract tests call is declared here.
declare module 'cronofy' {
  type Options = Record<string, unknown>;
  class Cronofy {
    constructor(config: Options);
    urls: { api: string };
    config: Options;
    readEvents(options: Options): Promise<{
      pages: { current: number; total: number; next_page?: string };
      events: Record<string, unknown>[];
    }>;
    createNotificationChannel(options: Options): Promise<{ channel: Record<string, unknown> }>;
    listNotificationChannels(options?: Options): Promise<{ channels: Record<string, unknown>[] }>;
    deleteNotificationChannel(options: Options): Promise<unknown>;
    refreshAccessToken(options?: Options): Promise<Record<string, unknown>>;
    requestAccessToken(options: Options): Promise<Record<string, unknown>>;
    userInfo(options?: Options): Promise<Record<string, unknown>>;
    profileInformation(options?: Options): Promise<{ profiles: Record<string, unknown>[] }>;
    listCalendars(options?: Options): Promise<{ calendars: Record<string, unknown>[] }>;
    hmacValid(options: { hmac: string; body: string | Buffer; client_secret?: string }): boolean;
  }
  export = Cronofy;
}
