/** The Reviews page (being built). */
import { ComingSoon } from "../shell/ComingSoon";

export default function ReviewsPage() {
  return <ComingSoon title="Reviews" />;
}
