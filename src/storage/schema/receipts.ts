export interface ReceiptTables {
  /** The latest receipt per (room, type, user, thread). thread_id '' = unthreaded. */
  receipts: {
    room_id: string;
    receipt_type: string;
    user_id: string;
    thread_id: string;
    event_id: string;
    /** Stream position of the event the receipt points at (for unread counts). */
    event_stream_pos: number;
    ts: number;
    stream_pos: number;
  };
}
