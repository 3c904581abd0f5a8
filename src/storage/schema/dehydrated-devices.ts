// Dehydrated devices (MSC3814): at most one per user. The device itself is an ordinary row of
// `devices` (so its keys are served and it receives to-device messages); this table marks it and
// holds the client's opaque device_data. Created by 0071_to_device_backup.
export interface DehydratedDeviceTables {
  dehydrated_devices: {
    user_id: string;
    device_id: string;
    device_data: string;
    created_ts: number;
  };
}
