// The `auth` object of user-interactive authentication (spec "User-interactive authentication
// API"): `type` and `session`, plus whatever fields the stage needs (password, identifier, token…),
// which the UIA service checks.
import Type from 'typebox';

export const AuthDict = Type.Object({ type: Type.Optional(Type.String()), session: Type.Optional(Type.String()) });
