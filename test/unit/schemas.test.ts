import { describe, expect, it, vi } from "vitest";
import { defaultSampling, maxMessageLength, type LynxApi } from "../../electron/api/contract.js";
import { isVettedExternalUrl } from "../../electron/api/desktop.js";
import { ApiCallError, apiMethods, dispatchApiCall, toApiError, validateApiArgs } from "../../electron/api/schemas.js";

describe("API argument schemas", () => {
  it("covers every callable LynxApi method", () => {
    expect(apiMethods.sort()).toEqual(
      [
        "closeChat",
        "deleteChat",
        "editLastAndResend",
        "exportChat",
        "getAppSettings",
        "getLocalApi",
        "getStorageInfo",
        "setLocalApi",
        "listHistory",
        "reopenChat",
        "updateAppSettings",
        "getModel",
        "getPolicy",
        "listChats",
        "openChat",
        "openModelDialog",
        "chooseModelsDir",
        "regenerate",
        "renameChat",
        "resetChat",
        "send",
        "setPolicy",
        "stop",
        "updateChatSettings",
        "getPruneCheck",
        "startPruneCheck",
        "cancelPruneCheck",
        "listModels",
        "estimateFit",
        "loadModel",
        "updateModelSettings",
        "deleteModel",
        "startDownload",
        "pauseDownload",
        "resumeDownload",
        "cancelDownload",
      ].sort(),
    );
  });

  it("accepts valid calls", () => {
    expect(validateApiArgs("getModel", []).ok).toBe(true);
    expect(validateApiArgs("openChat", []).ok).toBe(true);
    expect(validateApiArgs("openChat", [{ title: "T", systemPrompt: "be brief", sampling: defaultSampling }]).ok).toBe(true);
    expect(validateApiArgs("send", ["chat-1", "hello"]).ok).toBe(true);
    expect(validateApiArgs("send", ["c", "x".repeat(maxMessageLength)]).ok).toBe(true);
    expect(validateApiArgs("setPolicy", [{ mode: "preset", preset: "aggressive" }]).ok).toBe(true);
    expect(validateApiArgs("setPolicy", [{ mode: "slider", value: 0.35 }]).ok).toBe(true);
    expect(validateApiArgs("setPolicy", [{ mode: "budget", experts: 8 }]).ok).toBe(true);
    expect(validateApiArgs("updateChatSettings", ["c", { sampling: { ...defaultSampling, seed: 7 } }]).ok).toBe(true);
  });

  it.each([
    ["send", ["c", "x".repeat(maxMessageLength + 1)], /longer than/],
    ["send", ["c", "   "], /empty/],
    ["send", ["bad id!", "hi"], /invalid characters/],
    ["send", ["", "hi"], /./],
    ["send", ["c"], /./],
    ["send", ["c", "hi", "extra"], /./],
    ["renameChat", ["c", ""], /empty/],
    ["renameChat", ["c", "x".repeat(201)], /./],
    ["setPolicy", [{ mode: "preset", preset: "extreme" }], /./],
    ["setPolicy", [{ mode: "slider", value: 1.5 }], /./],
    ["setPolicy", [{ mode: "slider", value: Number.NaN }], /./],
    ["setPolicy", [{ mode: "budget", experts: 0 }], /./],
    ["setPolicy", [{ mode: "budget", experts: 2.5 }], /./],
    ["setPolicy", [{ mode: "budget", experts: 4, extra: true }], /./],
    ["updateChatSettings", ["c", { sampling: { ...defaultSampling, temperature: -1 } }], /./],
    ["updateChatSettings", ["c", { sampling: { ...defaultSampling, topP: 2 } }], /./],
    ["updateChatSettings", ["c", { sampling: { ...defaultSampling, maxTokens: 0 } }], /./],
    ["updateChatSettings", ["c", { sampling: { temperature: 1 } }], /./],
    ["updateChatSettings", ["c", { systemPrompt: 5 }], /./],
    ["updateChatSettings", ["c", { __proto__: { x: 1 }, evil: 1 }], /./],
    ["getModel", ["unexpected"], /./],
    ["listHistory", [{ search: "x".repeat(201) }], /./],
    ["listHistory", [{ limit: 0 }], /./],
    ["listHistory", [{ search: "a", sql: "drop" }], /./],
    ["reopenChat", ["../etc/passwd"], /invalid characters/],
    ["deleteChat", [""], /./],
    ["exportChat", ["c", "pdf"], /./],
    ["exportChat", ["c"], /./],
    ["updateAppSettings", [{ maxChats: 17 }], /./],
    ["updateAppSettings", [{ theme: "neon" }], /./],
    ["updateAppSettings", [{ lastModel: "/etc/passwd" }], /./],
    ["getStorageInfo", [1], /./],
    ["setLocalApi", [{ host: "evil.example" }], /./],
    ["setLocalApi", [{ port: -1 }], /./],
    ["setLocalApi", [{ apiKey: "short" }], /./],
    ["setLocalApi", [{ enabled: true, token: "x" }], /./],
  ] as const)("rejects %s %j", (method, args, message) => {
    const r = validateApiArgs(method, args);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("INVALID_INPUT");
      expect(r.error.message).toMatch(message);
    }
  });

  it("dispatches validated calls and maps host errors", async () => {
    const api = {
      send: vi.fn(async () => {}),
      stop: vi.fn(async () => {
        throw Object.assign(new Error("no such chat"), { code: "CHAT_NOT_FOUND" });
      }),
    } as unknown as LynxApi;
    await dispatchApiCall(api, "send", ["c1", "hello"]);
    expect(api.send).toHaveBeenCalledWith("c1", "hello");
    await expect(dispatchApiCall(api, "send", ["c1", ""])).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(dispatchApiCall(api, "stop", ["c1"])).rejects.toMatchObject({ code: "CHAT_NOT_FOUND", message: "no such chat" });
    await expect(dispatchApiCall(api, "constructor", [])).rejects.toBeInstanceOf(ApiCallError);
    await expect(dispatchApiCall(api, "openModelDialog", [])).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(dispatchApiCall(api, "chooseModelsDir", [])).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("maps errors to the wire shape, including contextBridge's [CODE] messages", () => {
    expect(toApiError(new ApiCallError("CHAT_BUSY", "busy"))).toEqual({ code: "CHAT_BUSY", message: "busy" });
    expect(toApiError(new Error("[CONTEXT_FULL] no room"))).toEqual({ code: "CONTEXT_FULL", message: "no room" });
    expect(toApiError(new Error("Error invoking remote method: [NOT_GGUF] bad file"))).toEqual({ code: "NOT_GGUF", message: "bad file" });
    expect(toApiError(new Error("plain"))).toEqual({ code: "INTERNAL", message: "plain" });
    expect(toApiError("x")).toEqual({ code: "INTERNAL", message: "x" });
  });

  it("vets external URLs", () => {
    expect(isVettedExternalUrl("https://github.com/withcatai/node-llama-cpp")).toBe(true);
    expect(isVettedExternalUrl("http://github.com/")).toBe(false);
    expect(isVettedExternalUrl("https://user:pw@github.com/")).toBe(false);
    expect(isVettedExternalUrl("https://github.com.evil.example/")).toBe(false);
    expect(isVettedExternalUrl("https://github.com:8443/")).toBe(false);
    expect(isVettedExternalUrl("file:///etc/passwd")).toBe(false);
    expect(isVettedExternalUrl("javascript:alert(1)")).toBe(false);
    expect(isVettedExternalUrl("not a url")).toBe(false);
  });
});
