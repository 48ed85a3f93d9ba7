// Download-and-execute, remote shells and quarantine bypass (family: download-exec).
// meta: id, family, severity (in scripts and other code), doc_severity (in Markdown
// and text instructions), message. The engine lowers severity where the match sits in
// a security discussion or a detection pattern, and raises it when the same line names
// a raw-IP, paste-site, shortener or exfiltration URL (see engine docs).

rule dl_pipe_to_shell {
  meta:
    id = "dl.pipe-to-shell"
    family = "download-exec"
    severity = "medium"
    doc_severity = "low"
    message = "downloads a script and pipes it straight into a shell; ship the script in the bundle or pin and verify it (checksum) before running"
  strings:
    $pipe = /\b(curl|wget|fetch)\b[^\n|;]{0,300}\|\s{0,8}(sudo\s{1,8}(-[a-zA-Z]\s{1,8}){0,3})?(ba|z|da|k|c|tc)?sh\b/
    $subst = /\b(ba|z)?sh\s{1,8}-c\s{1,8}["']?\$\(\s{0,8}(curl|wget)\b/
    $proc = /\b(ba|z)?sh\s{1,8}<\(\s{0,8}(curl|wget)\b/
    $interp = /\b(curl|wget)\b[^\n|;]{0,300}\|\s{0,8}(sudo\s{1,8})?(python[23]?|perl|ruby|node|php)\b(\s{1,8}-)?\s{0,8}(\n|$|;|&|\))/
  condition:
    any of them
}

rule dl_powershell_download_exec {
  meta:
    id = "dl.powershell-iex"
    family = "download-exec"
    severity = "medium"
    doc_severity = "low"
    message = "PowerShell downloads code and runs it with Invoke-Expression (iex); ship the script in the bundle instead"
  strings:
    $a = /\b(iex|Invoke-Expression)\b[^\n]{0,200}\b(DownloadString|DownloadData|Invoke-WebRequest|Invoke-RestMethod|iwr|irm|Net\.WebClient)\b/ nocase
    $b = /\b(Invoke-WebRequest|Invoke-RestMethod|iwr|irm|DownloadString)\b[^\n]{0,300}\|\s{0,8}(iex|Invoke-Expression)\b/ nocase
  condition:
    any of them
}

rule dl_fetch_chmod_run {
  meta:
    id = "dl.download-chmod-run"
    family = "download-exec"
    severity = "high"
    doc_severity = "medium"
    message = "downloads a file, makes it executable and runs it; bundle the tool or install it from a package manager"
  strings:
    $a = /\b(curl|wget)\b[^\n]{0,300}(&&|;|\n)[^\n]{0,120}\bchmod\s{1,8}(\+x|[0-7]?7[0-7][0-7]|u\+x|a\+x)\b/
  condition:
    $a
}

rule dl_exec_fetched_code {
  meta:
    id = "dl.exec-fetched-code"
    family = "download-exec"
    severity = "critical"
    doc_severity = "high"
    message = "evaluates code fetched from the network (exec/eval of a response body); never execute downloaded code"
  strings:
    $py = /\b(exec|eval)\s{0,8}\(\s{0,8}(urllib\.request\.)?(urlopen|requests\.get|httpx\.get|urllib\.request\.urlopen)\s{0,8}\(/
    $py2 = /\b(exec|eval)\s{0,8}\([^\n]{0,60}\.(text|content|read\(\))\s{0,8}\)/
    $js = /\beval\s{0,8}\(\s{0,8}(await\s{1,8})?(fetch|axios\.get|https?\.get)\s{0,8}\(/
    $js2 = /new\s{1,8}Function\s{0,8}\(\s{0,8}(await\s{1,8})?\(?\s{0,8}(await\s{1,8})?fetch\s{0,8}\(/
  condition:
    any of them
}

rule dl_reverse_shell {
  meta:
    id = "dl.reverse-shell"
    family = "download-exec"
    severity = "critical"
    doc_severity = "critical"
    message = "opens a remote shell (interactive shell over a network socket); remove it"
  strings:
    $devtcp = /\b(ba)?sh\s{1,8}-i\s{0,8}[>&0-9 ]{1,12}\/dev\/(tcp|udp)\//
    $devtcp2 = /exec\s{1,8}[0-9]{1,2}<>\/dev\/tcp\//
    $nc = /\b(nc|ncat|netcat)\b[^\n|;]{0,80}\s-[a-z]{0,4}e\s{1,8}\/bin\/(ba)?sh\b/
    $py = /socket\.socket\([^\n]{0,300}(subprocess\.call|pty\.spawn|os\.dup2)\s{0,8}\(/
    $mkfifo = /mkfifo\s{1,8}\/tmp\/[^\n]{0,120}\b(nc|ncat)\b/
  condition:
    any of them
}

rule dl_quarantine_bypass {
  meta:
    id = "dl.gatekeeper-bypass"
    family = "download-exec"
    severity = "high"
    doc_severity = "high"
    message = "removes macOS quarantine (xattr) so a downloaded binary runs without Gatekeeper's check; do not ship this"
  strings:
    $a = /\bxattr\s{1,8}(-[a-z]{1,3}\s{1,8}){0,3}-d\s{1,8}com\.apple\.quarantine\b/
    $b = /\bxattr\s{1,8}-c\s{1,8}[^\n]{0,200}\.(app|command|pkg|dmg)\b/
    $c = /\bspctl\s{1,8}--master-disable\b/
  condition:
    any of them
}
