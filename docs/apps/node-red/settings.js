// Node-RED settings for Lambda: everything written goes to the userDir under /tmp, listens on loopback only.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: parseInt(process.env.NODE_RED_PORT || "1881", 10),
    userDir: process.env.NODE_RED_USER_DIR || "/tmp/node-red",
    // Absolute: with a flows.json beside this file, Node-RED would read and write that one (read-only on Lambda).
    flowFile: (process.env.NODE_RED_USER_DIR || "/tmp/node-red") + "/flows.json",
    credentialSecret: "test-only-credential-secret",
    adminAuth: {
        type: "credentials",
        users: [{
            username: "admin",
            // bcrypt of "s3cret-Pass" (test credential)
            password: "$2b$08$58y0qoqmTXquGCRmC4n13uq8g3p6k45yAcjRahMSN8IIs6NTXhIMa",
            permissions: "*",
        }],
    },
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false },
    externalModules: { palette: { allowInstall: false }, modules: { allowInstall: false } },
    editorTheme: { tours: false, projects: { enabled: false }, palette: { editable: false } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    functionExternalModules: false,
};
