import { useEffect } from "react";

/** Sets the browser tab's title while a page is shown. */
export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · datacollect` : "datacollect";
  }, [title]);
}
