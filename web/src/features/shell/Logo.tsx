export function Logo({ className }: { className?: string }) {
  return (
    <svg viewBox="0 0 32 32" className={className} aria-hidden>
      <rect width="32" height="32" rx="7" fill="#0f766e" />
      <circle cx="10" cy="11" r="3.2" fill="#fff" />
      <circle cx="22" cy="11" r="3.2" fill="#fff" />
      <circle cx="16" cy="22" r="3.2" fill="#fff" />
      <path d="M10 11 16 22 22 11" stroke="#fff" strokeWidth="2" fill="none" />
    </svg>
  );
}
