export interface MetaTables {
  /** Small key/value facts about this database (e.g. the server name it was created for). */
  server_meta: { key: string; value: string };
}
