// Application services (see ../../services/appservice/README.md). Registrations from
// `app_service_config_files` live in their files; these rows are the ones added at run time.

export interface AppserviceTables {
  appservice_registrations: {
    id: string;
    /** The registration file as given (YAML), re-validated whenever it is loaded. */
    registration_yaml: string;
    added_ts: number;
  };
  /** The sender's progress per appservice (kept when a registration is removed and re-added). */
  appservice_state: {
    appservice_id: string;
    /**
     * JSON: per transaction contributor (room events, ephemeral, later E2EE sections), the global
     * stream position up to which its items are in a transaction (sent or pending).
     */
    cursors: string;
    next_txn_id: number;
    last_success_ts: number | null;
    last_error: string | null;
    last_error_ts: number | null;
  };
  /** Built and not yet acknowledged; sent strictly in txn_id order. */
  appservice_txns: {
    appservice_id: string;
    txn_id: number;
    /** The JSON body, exactly as it will be (re)sent. */
    body: string;
    event_count: number;
    created_ts: number;
  };
}
