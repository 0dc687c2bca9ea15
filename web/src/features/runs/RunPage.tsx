export default function RunPage() {
  return <div className="p-6">Run</div>;
}
