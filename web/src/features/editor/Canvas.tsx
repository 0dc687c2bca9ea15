/** The React Flow canvas: nodes and edges from the store, drop from the palette, minimap and zoom. */
import { useCallback, useEffect, type DragEvent, type ReactNode } from "react";
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type IsValidConnection,
  type OnConnectEnd,
  type OnError,
  type XYPosition,
} from "@xyflow/react";
import { useEditor, useEditorApi } from "./store";
import { nodeTypes } from "./NodeCard";
import { edgeTypes } from "./EdgeLine";
import { DRAG_TYPE } from "./Palette";
import { MINIMAP_COLORS } from "./icons";
import { NODE_HEIGHT, NODE_WIDTH } from "./layout";
import type { FlowEdge, FlowNode } from "./mapping";

const DELETE_KEYS = ["Delete", "Backspace"];

// Missing handles (an edge on a port the node type lacks) are reported as problems by the
// server; React Flow's own warning about them is not for people.
const onFlowError: OnError = (code, message) => {
  if (code === "008") return;
  console.warn(message);
};

/** A connection dropped on empty canvas: where, and from which node and port. */
export interface LooseConnection {
  nodeId: string;
  port: string;
  /** Client (screen) coordinates of the drop, and the same point on the canvas. */
  screen: XYPosition;
  flow: XYPosition;
}

export function Canvas({
  children,
  onPaneClick,
  onConnectToNothing,
}: {
  children?: ReactNode;
  onPaneClick?: () => void;
  onConnectToNothing?: (c: LooseConnection) => void;
}) {
  const api = useEditorApi();
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const readOnly = useEditor((s) => s.readOnly);
  const onNodesChange = useEditor((s) => s.onNodesChange);
  const onEdgesChange = useEditor((s) => s.onEdgesChange);
  const onConnect = useEditor((s) => s.onConnect);
  const fitRequest = useEditor((s) => s.fitRequest);
  const { screenToFlowPosition, fitView } = useReactFlow<FlowNode, FlowEdge>();

  useEffect(() => {
    if (!fitRequest) return;
    const t = setTimeout(() => void fitView({ padding: 0.2, maxZoom: 1.1, minZoom: 0.35, duration: 200 }), 60);
    return () => clearTimeout(t);
  }, [fitRequest, fitView]);

  const onDragOver = useCallback((e: DragEvent) => {
    if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(DRAG_TYPE);
      if (!type || readOnly) return;
      e.preventDefault();
      const p = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      api.getState().addNode(type, { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) });
    },
    [api, readOnly, screenToFlowPosition],
  );

  const isValidConnection: IsValidConnection<FlowEdge> = useCallback(
    (c) => {
      if (c.source === c.target) return false;
      const s = api.getState();
      const target = s.nodes.find((n) => n.id === c.target);
      const spec = target ? s.specs[target.data.type] : undefined;
      if (spec && (!spec.inputs || spec.is_trigger)) return false;
      return !s.edges.some((e) => e.source === c.source && e.target === c.target && (e.sourceHandle ?? "main") === (c.sourceHandle ?? "main"));
    },
    [api],
  );

  const specsLoaded = useEditor((s) => s.specsLoaded);
  const onConnectEnd: OnConnectEnd = useCallback(
    (event, state) => {
      if (!onConnectToNothing || state.isValid || state.toNode || !state.fromNode || state.fromHandle?.type !== "source") return;
      const point = "changedTouches" in event ? event.changedTouches[0] : event;
      const screen = { x: point.clientX, y: point.clientY };
      onConnectToNothing({ nodeId: state.fromNode.id, port: state.fromHandle.id ?? "main", screen, flow: screenToFlowPosition(screen) });
    },
    [onConnectToNothing, screenToFlowPosition],
  );

  const nodeColor = useCallback(
    (n: FlowNode) => MINIMAP_COLORS[api.getState().specs[n.data.type]?.category ?? ""] ?? "#a8a29e",
    // A new function once the specs arrive, so the minimap repaints in colour.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, specsLoaded],
  );

  return (
    <div className="relative h-full w-full" onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas">
      <ReactFlow<FlowNode, FlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onPaneClick={onPaneClick}
        onError={onFlowError}
        deleteKeyCode={readOnly ? null : DELETE_KEYS}
        nodesConnectable={!readOnly}
        nodesDraggable={!readOnly}
        edgesReconnectable={false}
        multiSelectionKeyCode={["Meta", "Control", "Shift"]}
        selectionKeyCode="Shift"
        snapToGrid
        snapGrid={[10, 10]}
        minZoom={0.1}
        maxZoom={2}
        defaultViewport={{ x: 40, y: 40, zoom: 1 }}
        onlyRenderVisibleElements={nodes.length > 120}
        defaultEdgeOptions={{ interactionWidth: 16 }}
        aria-label="Workflow canvas"
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} />
        <MiniMap<FlowNode> pannable zoomable nodeColor={nodeColor} nodeStrokeWidth={0} maskColor="rgba(245,245,244,0.7)" className="!rounded-md !border !border-stone-200" />
        <Controls showInteractive={false} className="!rounded-md !border !border-stone-200 !shadow-sm" />
        {children}
      </ReactFlow>
    </div>
  );
}
