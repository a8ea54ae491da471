import { GraphQLRequestError } from '../graphql/client';
import { describeError } from './errors';

// Every mutation carries a clientKey so the server applies one user action
// once. The key is made when the learner confirms and kept while the outcome
// is unknown (network failure, server error), so a retry cannot book twice.

export class ClientKeyedAction<T> {
  private key: string | null = null;
  private inFlight: Promise<T> | null = null;

  constructor(
    private readonly run: (clientKey: string) => Promise<T>,
    private readonly makeKey: () => string = () => crypto.randomUUID(),
  ) {}

  /** Runs the action; a second call while one is in flight joins it (double click). */
  perform(): Promise<T> {
    if (this.inFlight) return this.inFlight;
    const key = (this.key ??= this.makeKey());
    this.inFlight = this.run(key)
      .catch((error: unknown) => {
        // A definite refusal (SLOT_FULL…) ends the action; the next attempt is a new one.
        if (error instanceof GraphQLRequestError && !describeError(error).retry) this.key = null;
        throw error;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}
