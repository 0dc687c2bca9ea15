/** A promise-based confirmation dialog, answered by the one <ConfirmHost/> in the shell. */
import { create } from "zustand";

export interface ConfirmRequest {
  title: string;
  message?: string;
  confirmLabel?: string;
  cancelLabel?: string;
  danger?: boolean;
}

interface ConfirmState {
  request: (ConfirmRequest & { resolve: (ok: boolean) => void }) | null;
  answer: (ok: boolean) => void;
}

export const useConfirmState = create<ConfirmState>((set, get) => ({
  request: null,
  answer(ok) {
    get().request?.resolve(ok);
    set({ request: null });
  },
}));

export function confirm(request: ConfirmRequest): Promise<boolean> {
  return new Promise((resolve) => {
    useConfirmState.getState().request?.resolve(false);
    useConfirmState.setState({ request: { ...request, resolve } });
  });
}
