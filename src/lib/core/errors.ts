/**
 * The error protocol: every failure a user can meet carries a stable `code`, a `type`
 * (the stage that failed), a message written for the person who hit it, and whether retrying or
 * choosing another input can recover from it.
 */
export type ErrorType =
  | "validation"
  | "video"
  | "action"
  | "model"
  | "storage"
  | "backend"
  | "training"
  | "dataset"
  | "internal";

export class GamedreamError extends Error {
  readonly code: string;
  readonly type: ErrorType;
  readonly recoverable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(
    code: string,
    type: ErrorType,
    message: string,
    options: { recoverable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GamedreamError";
    this.code = code;
    this.type = type;
    this.recoverable = options.recoverable ?? true;
    this.details = options.details;
  }

  /** Plain object for JSON logs, workers' postMessage and the CLI. */
  toJSON(): {
    code: string;
    type: ErrorType;
    message: string;
    recoverable: boolean;
    details?: Record<string, unknown>;
  } {
    return {
      code: this.code,
      type: this.type,
      message: this.message,
      recoverable: this.recoverable,
      details: this.details,
    };
  }
}

export function isGamedreamError(e: unknown): e is GamedreamError {
  return (
    e instanceof GamedreamError ||
    (typeof e === "object" && e !== null && (e as { name?: string }).name === "GamedreamError")
  );
}

/** One line for a terminal: `error[CODE]: message`. */
export function formatErrorLine(e: unknown): string {
  if (isGamedreamError(e)) return `error[${e.code}]: ${e.message}`;
  const message = e instanceof Error ? e.message : String(e);
  return `error[INTERNAL]: ${message}`;
}
