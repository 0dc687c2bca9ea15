import { ComingSoon } from "../shell/ComingSoon";
export function RunsPage() {
  return <ComingSoon title="Runs" />;
}
