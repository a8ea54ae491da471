import { GraphQLRequestError, learnerMessage } from '../graphql/client';
import { t } from '../i18n';

// What a failed request means for the player. The server's messages are
// written for learners, so they are shown as they are.

export type FailureKind =
  /** Passing trouble (network, server error): send the same request again later. */
  | 'retry'
  /** The server refused this request (INVALID, NOT_FOUND): sending it again cannot help. */
  | 'drop'
  /** The attempt has ended (time is up or it was submitted). */
  | 'ended'
  /** The session is gone: nothing can be saved until the learner launches again. */
  | 'session';

export interface Failure {
  kind: FailureKind;
  message: string;
}

const PASSING = new Set(['INTERNAL', 'UNAVAILABLE']);

export function classifyError(error: unknown): Failure {
  if (!(error instanceof GraphQLRequestError)) return { kind: 'retry', message: t('err.generic') };
  if (error.kind !== 'graphql') return { kind: 'retry', message: error.message };
  if (error.hasCode('UNAUTHENTICATED')) return { kind: 'session', message: learnerMessage(error, t('err.UNAUTHENTICATED')) };
  if (error.hasCode('CONFLICT')) return { kind: 'ended', message: learnerMessage(error, t('err.attemptEnded')) };
  const code = error.codes[0];
  if (code !== undefined ? PASSING.has(code) : (error.status ?? 500) >= 500) {
    return { kind: 'retry', message: t('err.generic') };
  }
  return { kind: 'drop', message: learnerMessage(error, t('err.refused')) };
}
