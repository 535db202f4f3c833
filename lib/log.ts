// Structured JSON logs (pino). One root logger; components take a child with `{ component }`.
import { pino, type Logger } from 'pino';

export type { Logger };

export const rootLogger: Logger = pino({
  level: process.env.UPLINK_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export function logger(component: string): Logger {
  return rootLogger.child({ component });
}
