// The one error the authorization rules throw. Kept in its own module so every rule file can
// import it without importing check-auth.ts (which imports them all).

/** An event failed the spec's authorization rules; `message` says which rule and why. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}
