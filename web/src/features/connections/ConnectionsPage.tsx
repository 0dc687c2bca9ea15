/** The Connections page (being built). */
import { ComingSoon } from "../shell/ComingSoon";

export default function ConnectionsPage() {
  return <ComingSoon title="Connections" />;
}
