import { useEffect, useRef, useState } from "react";
import type { AppState } from "../store/index.js";
import { useAppStore } from "../store/react.js";

/**
 * Selects from the store at most every `intervalMs` (trailing edge), for panels that show
 * high-frequency telemetry as text: React re-renders a few times a second, not per frame.
 */
export function useThrottledSelector<T>(selector: (s: AppState) => T, intervalMs: number, equal: (a: T, b: T) => boolean = Object.is): T {
  const store = useAppStore();
  const [value, setValue] = useState(() => selector(store.getState()));
  const selectorRef = useRef(selector);
  selectorRef.current = selector;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    const update = () => {
      timer = null;
      last = Date.now();
      const next = selectorRef.current(store.getState());
      setValue((prev) => (equal(prev, next) ? prev : next));
    };
    const unsub = store.subscribe(() => {
      if (timer) return;
      const wait = Math.max(0, intervalMs - (Date.now() - last));
      timer = setTimeout(update, wait);
    });
    update();
    return () => {
      unsub();
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, intervalMs]);
  return value;
}

/**
 * Writes text into an element at most every `intervalMs`, trailing edge included: a screen-reader summary of live
 * telemetry is not rewritten per frame, and still ends on the latest value when the frames stop.
 */
export function useThrottledText<T extends HTMLElement>(ref: React.RefObject<T | null>, intervalMs: number): (text: () => string) => void {
  const state = useRef<{ last: number; timer: ReturnType<typeof setTimeout> | null; pending: (() => string) | null }>({ last: 0, timer: null, pending: null });
  useEffect(() => {
    const s = state.current;
    return () => {
      if (s.timer) clearTimeout(s.timer);
    };
  }, []);
  return (text) => {
    const s = state.current;
    s.pending = text;
    if (s.timer) return;
    const write = () => {
      s.timer = null;
      s.last = Date.now();
      if (ref.current && s.pending) ref.current.textContent = s.pending();
      s.pending = null;
    };
    const wait = intervalMs - (Date.now() - s.last);
    if (wait <= 0) write();
    else s.timer = setTimeout(write, wait);
  };
}

/** Width of an element, tracked with ResizeObserver. */
export function useElementWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T | null>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver((entries) => {
      for (const e of entries) setWidth(Math.floor(e.contentRect.width));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}
