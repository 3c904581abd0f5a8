// Send-to-device queues (client-server "Send-to-Device messaging"). Created by 0071_to_device_backup.
export interface ToDeviceTables {
  /**
   * Messages waiting for one device. A send takes one stream position for all its recipients;
   * a device gets at most one message per send, so (user, device, position) is unique and a
   * device's queue pages exactly by position. Rows go once the device acknowledges them.
   */
  to_device_messages: {
    user_id: string;
    device_id: string;
    stream_pos: number;
    sender: string;
    type: string;
    content: string;
  };
  /** Transaction IDs already used by a sending device: a retried PUT must not deliver twice. */
  to_device_txns: {
    user_id: string;
    device_id: string;
    txn_id: string;
    created_ts: number;
  };
}
