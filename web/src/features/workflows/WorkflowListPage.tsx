import { ComingSoon } from "../shell/ComingSoon";
export function WorkflowListPage() {
  return <ComingSoon title="Workflows" />;
}
