// This machine's memory as a load should count it: MemAvailable (free plus reclaimable cache), not MemFree, and a
// cgroup limit when the process runs under one (a container's limit is what the kernel enforces, not the host's RAM).
import fs from "node:fs";
import os from "node:os";

export interface MemoryInfo {
  machineBytes: number;
  availableBytes: number;
}

export function readMemory(): MemoryInfo {
  let machine = os.totalmem();
  let available = os.freemem();
  try {
    const meminfo = fs.readFileSync("/proc/meminfo", "utf8");
    const kib = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(meminfo);
      return m ? Number(m[1]) * 1024 : null;
    };
    machine = kib("MemTotal") ?? machine;
    available = kib("MemAvailable") ?? available;
  } catch {
    // not Linux: os.freemem() is the best there is
  }
  const constrained = typeof process.constrainedMemory === "function" ? process.constrainedMemory() : 0;
  if (constrained && constrained > 0 && constrained < machine) {
    const used = process.memoryUsage().rss;
    machine = constrained;
    available = Math.min(available, Math.max(0, constrained - used));
  }
  return { machineBytes: machine, availableBytes: available };
}
