/** Who is signed in. The token lives in the client's session module; this holds the user. */
import { create } from "zustand";
import type { User } from "../../client/types";
import { getMe, login as apiLogin } from "../../client/api";
import { ApiError } from "../../client/errors";
import { getToken, onSessionExpired, setToken } from "../../client/session";

type Status = "checking" | "signed-in" | "signed-out";

interface AuthState {
  status: Status;
  user: User | null;
  /** Set when the server ended the session (401), so the login page can say so. */
  expired: boolean;
  check: () => Promise<void>;
  login: (email: string, password: string) => Promise<void>;
  logout: () => void;
}

export const useAuth = create<AuthState>((set) => ({
  status: getToken() ? "checking" : "signed-out",
  user: null,
  expired: false,
  async check() {
    if (!getToken()) {
      set({ status: "signed-out", user: null });
      return;
    }
    try {
      const user = await getMe();
      set({ status: "signed-in", user, expired: false });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setToken(null);
      set({ status: "signed-out", user: null });
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    }
  },
  async login(email, password) {
    const answer = await apiLogin(email, password);
    set({ status: "signed-in", user: answer.user, expired: false });
  },
  logout() {
    setToken(null);
    set({ status: "signed-out", user: null, expired: false });
  },
}));

onSessionExpired(() => useAuth.setState({ status: "signed-out", user: null, expired: true }));
