export default function EditorPage() {
  return <div className="p-6">Editor</div>;
}
