/** Actions: the movement / camera / interaction schema, validation, logs and the encoding the DiT conditions on. */
export * from "./schema.js";
