/** A paying shopper's token as staff see it: enough to tell sessions apart, not to reuse it. */
export const tokenHint = (token: string): string => (token.length > 4 ? `…${token.slice(-4)}` : token);
