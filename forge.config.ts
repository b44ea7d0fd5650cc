// Electron Forge configuration (alternative to electron-builder.yml). Forge is not installed here,
// so its config shape is typed locally; the field names follow @electron-forge/shared-types'
// ForgeConfig, @electron/packager's options and @electron/fuses' FuseV1Options.
//   npm i -D @electron-forge/cli @electron-forge/maker-zip @electron-forge/maker-squirrel \
//     @electron-forge/maker-deb @electron-forge/plugin-auto-unpack-natives @electron-forge/plugin-fuses @electron/fuses
// then replace the local types with the real imports.

interface ForgeMaker {
  name: string;
  platforms?: string[];
  config?: Record<string, unknown>;
}

interface ForgePlugin {
  name: string;
  config: Record<string, unknown>;
}

interface ForgeConfig {
  packagerConfig: {
    name?: string;
    executableName?: string;
    appBundleId?: string;
    asar?: boolean | { unpack?: string; unpackDir?: string };
    ignore?: (path: string) => boolean;
    extraResource?: string[];
  };
  rebuildConfig?: Record<string, unknown>;
  makers: ForgeMaker[];
  plugins: ForgePlugin[];
  hooks?: Record<string, (...args: unknown[]) => Promise<void>>;
}

/** @electron/fuses FuseV1Options, by name. */
const FuseV1Options = {
  RunAsNode: 0,
  EnableCookieEncryption: 1,
  EnableNodeOptionsEnvironmentVariable: 2,
  EnableNodeCliInspectArguments: 3,
  EnableEmbeddedAsarIntegrityValidation: 4,
  OnlyLoadAppFromAsar: 5,
  LoadBrowserProcessSpecificV8Snapshot: 6,
  GrantFileProtocolExtraPrivileges: 7,
} as const;

/** What goes into the package: the built app, the engine's patch and runtime node_modules. */
const keep = [/^\/package\.json$/, /^\/dist\/renderer(\/|$)/, /^\/dist\/electron(\/|$)/, /^\/patches(\/|$)/, /^\/node_modules(\/|$)/];

const config: ForgeConfig = {
  packagerConfig: {
    name: "Lynx Chat",
    executableName: "lynx-chat",
    appBundleId: "dev.lynxchat.app",
    // Native binaries stay outside the asar (as node-llama-cpp's Electron template does).
    asar: { unpack: "**/{node_modules/node-llama-cpp/bins,node_modules/node-llama-cpp/llama/localBuilds,node_modules/@node-llama-cpp,node_modules/koffi}/**/*" },
    ignore: (p: string) => p !== "" && !keep.some((re) => re.test(p)),
    extraResource: ["resources/models"],
  },
  rebuildConfig: {},
  makers: [
    { name: "@electron-forge/maker-squirrel", platforms: ["win32"], config: {} },
    { name: "@electron-forge/maker-zip", platforms: ["darwin", "linux"], config: {} },
    { name: "@electron-forge/maker-deb", platforms: ["linux"], config: { options: { categories: ["Development"] } } },
  ],
  plugins: [
    { name: "@electron-forge/plugin-auto-unpack-natives", config: {} },
    {
      name: "@electron-forge/plugin-fuses",
      config: {
        version: "1",
        [FuseV1Options.RunAsNode]: false,
        [FuseV1Options.EnableCookieEncryption]: true,
        [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
        [FuseV1Options.EnableNodeCliInspectArguments]: false,
        [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
        [FuseV1Options.OnlyLoadAppFromAsar]: true,
        [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
      },
    },
  ],
};

export default config;
