/** The canvas edge: a curve, with a delete button on it while it is selected. */
import { memo } from "react";
import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps } from "@xyflow/react";
import { X } from "lucide-react";
import { useEditor, useEditorApi } from "./store";

function EdgeLineImpl({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, selected, markerEnd, style, interactionWidth }: EdgeProps) {
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const readOnly = useEditor((s) => s.readOnly);
  const api = useEditorApi();
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} interactionWidth={interactionWidth} />
      {selected && !readOnly && (
        <EdgeLabelRenderer>
          <button
            type="button"
            className="nodrag nopan absolute flex size-5 items-center justify-center rounded-full border border-stone-300 bg-white text-stone-600 shadow-sm hover:border-red-400 hover:text-red-600"
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)`, pointerEvents: "all" }}
            title="Remove this connection"
            aria-label="Remove this connection"
            onClick={() => api.getState().onEdgesChange([{ type: "remove", id }])}
          >
            <X className="size-3" />
          </button>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const EdgeLine = memo(EdgeLineImpl);

/** At module scope so React Flow never sees a new object. */
export const edgeTypes = { dc: EdgeLine };
