// Hands the context's sequences to chats that generate. A chat gets back the sequence it used last when it is
// free (its KV cache still holds the chat, so only the new message is evaluated); more generating chats than
// sequences wait in FIFO order. reserveAll() takes every sequence for one exclusive task (the pruning check): from
// the call on, chats queue; it resolves once the running ones released theirs, and releaseAll() serves the queue.
import type { LlamaContextSequence } from "node-llama-cpp";

/** llama.cpp's seq_id of a sequence (node-llama-cpp keeps it internal; sequences are created in id order). */
export function sequenceIdOf(sequence: LlamaContextSequence, fallback: number): number {
  const id = (sequence as unknown as { _sequenceId?: unknown })._sequenceId;
  return typeof id === "number" ? id : fallback;
}

interface Slot {
  sequence: LlamaContextSequence;
  sequenceId: number;
  owner: string | null; // chat whose tokens the KV cache holds
  busy: boolean;
  lastUsed: number;
}

interface Waiter {
  chatId: string;
  resolve: (sequence: LlamaContextSequence) => void;
  reject: (err: Error) => void;
}

export class SequencePool {
  private readonly slots: Slot[];
  private readonly waiters: Waiter[] = [];
  private clock = 0;
  /** An exclusive task waits for, or holds, every sequence: nothing is handed to a chat meanwhile. */
  private reservation: { resolve: (sequences: LlamaContextSequence[]) => void; reject: (err: Error) => void } | null = null;
  private reserved = false;

  constructor(
    sequences: LlamaContextSequence[],
    private readonly onQueueChange: (queue: readonly string[]) => void = () => {},
  ) {
    this.slots = sequences.map((sequence, index) => ({ sequence, sequenceId: sequenceIdOf(sequence, index), owner: null, busy: false, lastUsed: 0 }));
  }

  get size() {
    return this.slots.length;
  }

  get queue(): readonly string[] {
    return this.waiters.map((waiter) => waiter.chatId);
  }

  /** Resolves with a sequence for the chat, at once or when one frees up. */
  acquire(chatId: string, signal?: AbortSignal): Promise<LlamaContextSequence> {
    const slot = this.exclusive ? undefined : this.pick(chatId);
    if (slot) return Promise.resolve(this.take(slot, chatId));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { chatId, resolve, reject };
      this.waiters.push(waiter);
      this.onQueueChange(this.queue);
      signal?.addEventListener(
        "abort",
        () => {
          const index = this.waiters.indexOf(waiter);
          if (index < 0) return;
          this.waiters.splice(index, 1);
          this.onQueueChange(this.queue);
          reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        },
        { once: true },
      );
    });
  }

  release(sequence: LlamaContextSequence) {
    const slot = this.slots.find((s) => s.sequence === sequence);
    if (!slot) return;
    slot.busy = false;
    if (this.reservation) {
      this.grantReservation();
      return;
    }
    if (this.reserved) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.onQueueChange(this.queue);
      waiter.resolve(this.take(slot, waiter.chatId));
    }
  }

  /** True while an exclusive task waits for or holds every sequence (chats queue). */
  get exclusive(): boolean {
    return this.reservation !== null || this.reserved;
  }

  /**
   * Every sequence, for one exclusive task: new requests queue from now on; resolves when the running generations
   * have released theirs. Their KV caches are handed over as they are (the task clears them) and no chat owns them
   * afterwards, so a chat evaluates its history again on its next turn.
   */
  reserveAll(signal?: AbortSignal): Promise<LlamaContextSequence[]> {
    if (this.exclusive) return Promise.reject(new Error("the sequences are already reserved"));
    const granted = new Promise<LlamaContextSequence[]>((resolve, reject) => {
      this.reservation = { resolve, reject };
    });
    signal?.addEventListener(
      "abort",
      () => {
        const pending = this.reservation;
        if (!pending) return;
        this.reservation = null;
        pending.reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        this.serveWaiters();
      },
      { once: true },
    );
    this.grantReservation();
    return granted;
  }

  /** Ends an exclusive task: its sequences go to the queued chats, first come first served. */
  releaseAll() {
    if (!this.reserved) return;
    this.reserved = false;
    for (const slot of this.slots) {
      slot.busy = false;
      slot.owner = null;
    }
    this.serveWaiters();
  }

  /** The chat's KV cache content is no longer wanted (chat closed or reset). */
  forget(chatId: string) {
    for (const slot of this.slots) if (slot.owner === chatId && !slot.busy) slot.owner = null;
  }

  idOf(sequence: LlamaContextSequence): number {
    const slot = this.slots.find((s) => s.sequence === sequence);
    if (!slot) throw new Error("sequence is not part of this pool");
    return slot.sequenceId;
  }

  sequenceById(sequenceId: number): LlamaContextSequence {
    const slot = this.slots.find((s) => s.sequenceId === sequenceId);
    if (!slot) throw new Error(`no sequence ${sequenceId}`);
    return slot.sequence;
  }

  sequenceOf(chatId: string): LlamaContextSequence | undefined {
    return this.slots.find((slot) => slot.owner === chatId && slot.busy)?.sequence;
  }

  /** Which chat each sequence currently serves (busy sequences only). */
  busyOwners(): Array<{ sequenceId: number; chatId: string }> {
    return this.slots.filter((s) => s.busy && s.owner).map((s) => ({ sequenceId: s.sequenceId, chatId: s.owner! }));
  }

  rejectAll(err: Error) {
    const pending = this.reservation;
    this.reservation = null;
    pending?.reject(err);
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    this.onQueueChange(this.queue);
  }

  private grantReservation() {
    const pending = this.reservation;
    if (!pending || this.slots.some((slot) => slot.busy)) return;
    this.reservation = null;
    this.reserved = true;
    for (const slot of this.slots) {
      slot.busy = true;
      slot.owner = null;
    }
    pending.resolve(this.slots.map((slot) => slot.sequence));
  }

  private serveWaiters() {
    const before = this.waiters.length;
    while (this.waiters.length > 0) {
      const slot = this.pick(this.waiters[0]!.chatId);
      if (!slot) break;
      const waiter = this.waiters.shift()!;
      waiter.resolve(this.take(slot, waiter.chatId));
    }
    if (this.waiters.length !== before) this.onQueueChange(this.queue);
  }

  private pick(chatId: string): Slot | undefined {
    const free = this.slots.filter((slot) => !slot.busy);
    return (
      free.find((slot) => slot.owner === chatId) ??
      free.find((slot) => slot.owner === null) ??
      free.sort((a, b) => a.lastUsed - b.lastUsed)[0]
    );
  }

  private take(slot: Slot, chatId: string): LlamaContextSequence {
    slot.busy = true;
    slot.owner = chatId;
    slot.lastUsed = ++this.clock;
    return slot.sequence;
  }
}
