/** The Settings page (being built). */
import { ComingSoon } from "../shell/ComingSoon";

export default function SettingsPage() {
  return <ComingSoon title="Settings" />;
}
