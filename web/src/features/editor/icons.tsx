/** Icons and colours for node types: the spec's `icon` name, else its category. */
import {
  ArrowRightLeft,
  Box,
  Braces,
  Building2,
  Calculator,
  CalendarClock,
  ClipboardList,
  Clock,
  Cloud,
  Code,
  Database,
  FileSpreadsheet,
  FileText,
  FileUp,
  Filter,
  GitBranch,
  Globe,
  Hourglass,
  Inbox,
  Layers,
  ListChecks,
  Mail,
  MailPlus,
  Merge,
  MousePointerClick,
  Play,
  Puzzle,
  Repeat,
  Send,
  Server,
  ShieldCheck,
  Shuffle,
  Sigma,
  Split,
  Table,
  Timer,
  Upload,
  UserCheck,
  Webhook,
  Zap,
  type LucideIcon,
} from "lucide-react";

const BY_NAME: Record<string, LucideIcon> = {
  box: Box,
  play: Play,
  "mouse-pointer-click": MousePointerClick,
  manual: MousePointerClick,
  webhook: Webhook,
  mail: Mail,
  email: Mail,
  inbox: Inbox,
  "mail-plus": MailPlus,
  clock: Clock,
  schedule: CalendarClock,
  "calendar-clock": CalendarClock,
  "file-text": FileText,
  form: ClipboardList,
  "clipboard-list": ClipboardList,
  send: Send,
  upload: Upload,
  "file-up": FileUp,
  "file-spreadsheet": FileSpreadsheet,
  shuffle: Shuffle,
  map: ArrowRightLeft,
  "arrow-right-left": ArrowRightLeft,
  calculator: Calculator,
  sigma: Sigma,
  aggregate: Sigma,
  layers: Layers,
  merge: Merge,
  "shield-check": ShieldCheck,
  "list-checks": ListChecks,
  check: ListChecks,
  filter: Filter,
  "git-branch": GitBranch,
  branch: GitBranch,
  split: Split,
  repeat: Repeat,
  loop: Repeat,
  timer: Timer,
  hourglass: Hourglass,
  wait: Hourglass,
  "user-check": UserCheck,
  review: UserCheck,
  database: Database,
  globe: Globe,
  api: Globe,
  server: Server,
  cloud: Cloud,
  building: Building2,
  "building-2": Building2,
  erp: Building2,
  zap: Zap,
  code: Code,
  braces: Braces,
  table: Table,
  puzzle: Puzzle,
};

const BY_CATEGORY: Record<string, LucideIcon> = {
  trigger: Zap,
  collection: ClipboardList,
  transform: Shuffle,
  validate: ShieldCheck,
  logic: GitBranch,
  review: UserCheck,
  output: Send,
};

export function iconFor(icon: string | undefined, category: string | undefined): LucideIcon {
  const key = (icon ?? "")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/[_\s]+/g, "-")
    .toLowerCase();
  return BY_NAME[key] ?? BY_CATEGORY[category ?? ""] ?? Puzzle;
}

export interface CategoryStyle {
  label: string;
  /** Icon tile: background and foreground. */
  tile: string;
  /** The thin bar on the card's left edge. */
  accent: string;
}

export const CATEGORIES: Record<string, CategoryStyle> = {
  trigger: { label: "Triggers", tile: "bg-amber-50 text-amber-700 ring-amber-200", accent: "bg-amber-400" },
  collection: { label: "Collection", tile: "bg-sky-50 text-sky-700 ring-sky-200", accent: "bg-sky-400" },
  transform: { label: "Transform", tile: "bg-violet-50 text-violet-700 ring-violet-200", accent: "bg-violet-400" },
  validate: { label: "Validate", tile: "bg-emerald-50 text-emerald-700 ring-emerald-200", accent: "bg-emerald-400" },
  logic: { label: "Logic", tile: "bg-indigo-50 text-indigo-700 ring-indigo-200", accent: "bg-indigo-400" },
  review: { label: "Review", tile: "bg-rose-50 text-rose-700 ring-rose-200", accent: "bg-rose-400" },
  output: { label: "Output", tile: "bg-teal-50 text-teal-700 ring-teal-200", accent: "bg-teal-500" },
};

export const CATEGORY_ORDER = ["trigger", "collection", "transform", "validate", "logic", "review", "output"];

const OTHER: CategoryStyle = { label: "Other", tile: "bg-stone-100 text-stone-700 ring-stone-200", accent: "bg-stone-400" };

export function categoryStyle(category: string | undefined): CategoryStyle {
  return CATEGORIES[category ?? ""] ?? OTHER;
}

/** Colour names for the minimap, by category. */
export const MINIMAP_COLORS: Record<string, string> = {
  trigger: "#fbbf24",
  collection: "#38bdf8",
  transform: "#a78bfa",
  validate: "#34d399",
  logic: "#818cf8",
  review: "#fb7185",
  output: "#14b8a6",
};
