/** The signed-in session: the access token kept in localStorage, and who to tell when it ends. */

const KEY = "datacollect.token";
type Listener = () => void;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return storage()?.getItem(KEY) ?? null;
}

export function setToken(token: string | null): void {
  const s = storage();
  if (!s) return;
  if (token) s.setItem(KEY, token);
  else s.removeItem(KEY);
}

/** Called when the server answers 401: the token is dropped and the app goes back to login. */
export function sessionExpired(): void {
  setToken(null);
  listeners.forEach((l) => l());
}

export function onSessionExpired(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
