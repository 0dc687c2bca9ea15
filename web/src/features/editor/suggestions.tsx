/**
 * Choices for settings that name something stored elsewhere — a form, a review team, a
 * connection — offered as the user types (a datalist: any other value, a template included,
 * can still be written). A caller who may not list those things just gets no choices.
 */
import { useQuery } from "@tanstack/react-query";
import { listForms } from "../../client/api";
import { listConnections } from "../connections/api";
import { listTeams } from "../reviews/api";

export type SuggestedFormat = "form" | "team" | "connection";

export function suggests(format: unknown): format is SuggestedFormat {
  return format === "form" || format === "team" || format === "connection";
}

export interface Choice {
  value: string;
  label: string;
}

async function choicesFor(format: SuggestedFormat): Promise<Choice[]> {
  if (format === "form") {
    const forms = await listForms({ page_size: 500 });
    // the form's name follows its newest version; a version's key pins one
    return forms.data.flatMap((f) => [
      { value: f.name, label: `${f.title || f.name} (newest version)` },
      { value: f.key, label: `${f.title || f.name}, this version only` },
    ]);
  }
  if (format === "team") return (await listTeams()).data.map((t) => ({ value: t.name, label: `${t.member_count} members` }));
  return (await listConnections()).data.map((c) => ({ value: c.id, label: `${c.name} (${c.kind})` }));
}

export function Suggestions({ id, format }: { id: string; format: SuggestedFormat }) {
  const choices = useQuery({ queryKey: ["suggestions", format], queryFn: () => choicesFor(format), staleTime: 60_000, retry: false });
  return (
    <datalist id={id} data-testid={`suggestions-${format}`}>
      {(choices.data ?? []).map((c) => (
        <option key={c.value} value={c.value}>
          {c.label}
        </option>
      ))}
    </datalist>
  );
}
