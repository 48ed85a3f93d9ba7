// Reads the agent table out of an installed `skills` package (dist/cli.mjs) and prints it
// as JSON: {"agents": [{id, label, project_dir, global_dir}], "detected": {id: [marker...]}}.
//
// The table is a module-level `const agents = {...}` (with the home folders it uses
// defined just before it), not exported; this evaluates exactly that source text, with
// the same imports, so what it prints is the table `npx skills` itself runs with.
// Probes (stdin, JSON [[id, marker], ...]): for each, create HOME/marker, ask the
// agent's own detectInstalled(), remove it again (its top folder); "detected" lists the markers it saw.
import { existsSync, mkdirSync, readFileSync, rmSync } from "fs";
import { homedir } from "os";
import { join } from "path";

const source = readFileSync(process.argv[2], "utf-8");
const start = source.indexOf("const home = homedir();");
const open = source.indexOf("const agents = {", start);
const end = source.indexOf("\n};\n", open);
if (start < 0 || open < 0 || end < 0) throw new Error(`no agent table in ${process.argv[2]}`);
const body = `${source.slice(start, end + 3)}\nreturn agents;`;
const xdgConfig = process.env.XDG_CONFIG_HOME || undefined; // what xdg-basedir exports
const agents = new Function("homedir", "join", "existsSync", "readFileSync", "xdgConfig", "process", body)(
  homedir, join, existsSync, readFileSync, xdgConfig, process,
);

const home = homedir();
const relative = (dir) => (dir === undefined ? null : dir.startsWith(`${home}/`) ? dir.slice(home.length + 1) : dir);
const table = [];
for (const [id, agent] of Object.entries(agents)) {
  table.push({
    id,
    label: agent.displayName,
    project_dir: agent.skillsDir,
    global_dir: relative(agent.globalSkillsDir),
    installed: Boolean(await agent.detectInstalled()),
  });
}
const detected = {};
for (const [id, marker] of JSON.parse(readFileSync(0, "utf-8") || "[]")) {
  mkdirSync(join(home, marker), { recursive: true });
  if (await agents[id].detectInstalled()) (detected[id] ??= []).push(marker);
  rmSync(join(home, marker.split("/")[0]), { recursive: true, force: true });
}
console.log(JSON.stringify({ agents: table, detected }));
