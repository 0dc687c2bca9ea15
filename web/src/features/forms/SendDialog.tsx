/**
 * Sending a saved form version to recipients (`POST /api/forms/{key}/send`): each gets a
 * personal link, by email or, with portal delivery, as a link shown here once to pass on.
 */
import { useState } from "react";
import { Link } from "react-router";
import { Check, Copy, Send } from "lucide-react";
import { sendForm } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { CampaignCreated, SendRequest } from "../../client/types";
import { Button, ErrorNote, Field, Input, Modal, Select, Textarea } from "../../lib/ui";

/** `Anna Schmidt <anna@acme.example>, Acme Steel` lines → recipients. */
export function parseRecipients(text: string): { recipients: Record<string, string>[]; bad: string[] } {
  const recipients: Record<string, string>[] = [];
  const bad: string[] = [];
  for (const raw of text.split(/\n|;/)) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(?:"?([^"<]*?)"?\s*<([^>]+)>|([^\s,<>]+@[^\s,<>]+))\s*(?:,\s*(.*))?$/.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    const email = (m[2] ?? m[3]).trim();
    if (!/^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/.test(email)) {
      bad.push(line);
      continue;
    }
    const r: Record<string, string> = { email };
    if (m[1]?.trim()) r.name = m[1].trim();
    if (m[4]?.trim()) r.company = m[4].trim();
    recipients.push(r);
  }
  return { recipients, bad };
}

export function SendDialog({ formKey, title, onClose }: { formKey: string; title: string; onClose: () => void }) {
  const [text, setText] = useState("");
  const [delivery, setDelivery] = useState<SendRequest["delivery"]>("email");
  const [deadline, setDeadline] = useState("");
  const [reminders, setReminders] = useState("3d, -1d");
  const [subject, setSubject] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<CampaignCreated | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const parsed = parseRecipients(text);

  async function send() {
    setError(null);
    if (!parsed.recipients.length) {
      setError("Add at least one recipient, one per line.");
      return;
    }
    if (parsed.bad.length) {
      setError(`These lines are not recipients: ${parsed.bad.join("; ")}`);
      return;
    }
    setBusy(true);
    try {
      const campaign = await sendForm(formKey, {
        recipients: parsed.recipients,
        delivery,
        deadline: deadline ? new Date(deadline).toISOString() : null,
        reminder_schedule: reminders.split(",").map((x) => x.trim()).filter(Boolean),
        name: `${title} ${new Date().toLocaleDateString()}`,
        subject: subject.trim() || null,
      });
      setDone(campaign);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <Modal title={`Sent: ${title}`} onClose={onClose} width="max-w-2xl" footer={<Button variant="primary" onClick={onClose}>Done</Button>}>
        <div className="space-y-3 text-sm" data-testid="send-result">
          <p>
            {done.total} personal link{done.total === 1 ? "" : "s"} made{done.delivery === "email" ? " and sent by email" : ""}.{" "}
            <Link to={`/responses?form=${encodeURIComponent(done.form_key)}`} className="font-medium text-brand-800 underline">
              See the responses as they come in
            </Link>
            .
          </p>
          {done.links.length > 0 && (
            <>
              <p className="text-stone-600">Pass each link to its recipient. They are shown this once.</p>
              <ul className="divide-y divide-stone-200 rounded-md border border-stone-200">
                {done.links.map((l) => (
                  <li key={l.request_id} className="flex items-center gap-2 px-3 py-2">
                    <span className="w-40 shrink-0 truncate">{String(l.recipient.name ?? l.recipient.email ?? "")}</span>
                    <a href={l.url} className="min-w-0 flex-1 truncate font-mono text-xs text-brand-800 underline" data-testid="personal-link">
                      {l.url}
                    </a>
                    <Button
                      size="sm"
                      icon={copied === l.url ? <Check className="size-3.5" /> : <Copy className="size-3.5" />}
                      onClick={() => {
                        void navigator.clipboard?.writeText(l.url);
                        setCopied(l.url);
                      }}
                    >
                      Copy
                    </Button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      </Modal>
    );
  }

  return (
    <Modal
      title={`Send “${title}”`}
      onClose={onClose}
      width="max-w-xl"
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" icon={<Send className="size-4" />} busy={busy} onClick={() => void send()}>
            Send to {parsed.recipients.length || "…"}
          </Button>
        </>
      }
    >
      <div className="space-y-4">
        <p className="text-sm text-stone-600">
          Version <span className="font-mono">{formKey}</span>. Each recipient gets a personal link that only they can use; drafts, reminders and delegation come with it.
        </p>
        <Field label="Recipients" htmlFor="send-recipients" hint={`One per line: email, or Name <email>, Company. ${parsed.recipients.length} recipient${parsed.recipients.length === 1 ? "" : "s"}.`}>
          <Textarea id="send-recipients" rows={5} className="font-mono text-xs" placeholder={"Anna Schmidt <anna@acme.example>, Acme Steel GmbH\npiotr@plastics.example"} value={text} onChange={(e) => setText(e.target.value)} />
        </Field>
        <div className="grid grid-cols-2 gap-3">
          <Field label="Delivery" htmlFor="send-delivery">
            <Select id="send-delivery" value={delivery} onChange={(e) => setDelivery(e.target.value as SendRequest["delivery"])}>
              <option value="email">Email</option>
              <option value="portal">Links to pass on (portal)</option>
            </Select>
          </Field>
          <Field label="Deadline" htmlFor="send-deadline" hint="Optional. Links stop working after it.">
            <Input id="send-deadline" type="datetime-local" value={deadline} onChange={(e) => setDeadline(e.target.value)} />
          </Field>
        </div>
        {delivery === "email" && (
          <div className="grid grid-cols-2 gap-3">
            <Field label="Reminders" htmlFor="send-reminders" hint="After sending (3d) or before the deadline (-1d).">
              <Input id="send-reminders" value={reminders} onChange={(e) => setReminders(e.target.value)} />
            </Field>
            <Field label="Subject" htmlFor="send-subject" hint="Optional; {{ recipient.name }} works.">
              <Input id="send-subject" value={subject} onChange={(e) => setSubject(e.target.value)} />
            </Field>
          </div>
        )}
        {error && <ErrorNote>{error}</ErrorNote>}
      </div>
    </Modal>
  );
}
