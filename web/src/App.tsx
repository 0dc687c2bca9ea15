import { lazy, Suspense } from "react";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ApiError } from "./client/errors";
import { Layout, RequirePage } from "./features/shell/Layout";
import { LoginPage } from "./features/shell/LoginPage";
import { NotFound } from "./features/shell/ComingSoon";
import { WorkflowListPage } from "./features/workflows/WorkflowListPage";
import { RunsPage } from "./features/runs/RunsPage";
import { ConfirmHost, Spinner, Toaster } from "./lib/ui";

const EditorPage = lazy(() => import("./features/editor/EditorPage"));
const RunPage = lazy(() => import("./features/runs/RunPage"));
const PublicFormPage = lazy(() => import("./features/forms/PublicFormPage"));
const FormBuilderPage = lazy(() => import("./features/forms/FormBuilderPage"));
const ResponsePage = lazy(() => import("./features/responses/ResponsePage"));
const FormsPage = lazy(() => import("./features/forms/FormsPage").then((m) => ({ default: m.FormsPage })));
const ReviewsPage = lazy(() => import("./features/reviews/ReviewsPage"));
const ConnectionsPage = lazy(() => import("./features/connections/ConnectionsPage"));
const SettingsPage = lazy(() => import("./features/settings/SettingsPage"));
const ResponsesPage = lazy(() => import("./features/responses/ResponsesPage").then((m) => ({ default: m.ResponsesPage })));

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

const page = (node: React.ReactNode) => (
  <Suspense
    fallback={
      <div className="p-6">
        <Spinner />
      </div>
    }
  >
    {node}
  </Suspense>
);

const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  // a respondent's personal link: no login, no app frame
  { path: "/f/:token", element: page(<PublicFormPage />) },
  {
    path: "/",
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/workflows" replace /> },
      { path: "workflows", element: <RequirePage page="workflows"><WorkflowListPage /></RequirePage> },
      { path: "workflows/new", element: <RequirePage page="workflows">{page(<EditorPage />)}</RequirePage> },
      { path: "workflows/:id", element: <RequirePage page="workflows">{page(<EditorPage />)}</RequirePage> },
      { path: "runs", element: <RequirePage page="runs"><RunsPage /></RequirePage> },
      { path: "runs/:id", element: <RequirePage page="runs">{page(<RunPage />)}</RequirePage> },
      { path: "forms", element: <RequirePage page="forms">{page(<FormsPage />)}</RequirePage> },
      { path: "forms/new", element: <RequirePage page="forms">{page(<FormBuilderPage />)}</RequirePage> },
      { path: "forms/:name", element: <RequirePage page="forms">{page(<FormBuilderPage />)}</RequirePage> },
      { path: "responses", element: <RequirePage page="responses">{page(<ResponsesPage />)}</RequirePage> },
      { path: "responses/:id", element: <RequirePage page="responses">{page(<ResponsePage />)}</RequirePage> },
      { path: "reviews/:id", element: <RequirePage page="reviews">{page(<ReviewsPage />)}</RequirePage> },
      { path: "reviews", element: <RequirePage page="reviews">{page(<ReviewsPage />)}</RequirePage> },
      { path: "connections", element: <RequirePage page="connections">{page(<ConnectionsPage />)}</RequirePage> },
      { path: "settings", element: <RequirePage page="settings">{page(<SettingsPage />)}</RequirePage> },
      { path: "*", element: <NotFound /> },
    ],
  },
]);

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <Toaster />
      <ConfirmHost />
    </QueryClientProvider>
  );
}
