// Installing something that survives the session (family: persistence).

rule persist_cron {
  meta:
    id = "persist.cron"
    family = "persistence"
    severity = "medium"
    doc_severity = "low"
    message = "installs a cron job; a skill should not schedule itself, document the step for the user instead"
  strings:
    $pipe = /\|\s{0,8}crontab\s{1,8}-(\s|$|\n)/
    $list = /crontab\s{1,8}-l\b[^\n]{0,200}(echo|printf)/
    $dir = /(>|tee\s{1,8}(-a\s{1,8})?|cp\s[^\n]{0,120}|mv\s[^\n]{0,120})\s{0,8}\/(etc\/cron\.(d|daily|hourly|weekly)|var\/spool\/cron)\b/
    $reboot = /@reboot\s{1,8}[^\n]{0,200}(curl|wget|python|bash|sh|nohup|\/tmp\/)/
  condition:
    any of them
}

rule persist_shell_rc {
  meta:
    id = "persist.shell-startup"
    family = "persistence"
    severity = "medium"
    doc_severity = "low"
    message = "writes to a shell start-up file (~/.bashrc, ~/.zshrc, ~/.profile); tell the user what to add instead"
  strings:
    $a = />>?\s{0,8}["']?(~|\$HOME|\$\{HOME\}|\/home\/[a-z0-9_]{1,32}|\/Users\/[A-Za-z0-9_]{1,32}|\/root)\/\.(bashrc|zshrc|bash_profile|profile|zprofile|zshenv|bash_login|bash_logout)\b/
    $b = /tee\s{1,8}-a\s{1,8}["']?(~|\$HOME)\/\.(bashrc|zshrc|bash_profile|profile|zprofile|zshenv)\b/
    $c = /open\s{0,8}\([^\n]{0,120}\.(bashrc|zshrc|bash_profile|zprofile|zshenv)['"][^\n]{0,40}['"]a/
  condition:
    any of them
}

rule persist_launchd {
  meta:
    id = "persist.launch-agent"
    family = "persistence"
    severity = "high"
    doc_severity = "medium"
    message = "installs a macOS launch agent or daemon that runs at every login; a skill must not install background services"
  strings:
    $dir = /Library\/Launch(Agents|Daemons)\/[^\s"']{0,120}\.plist/
    $load = /\blaunchctl\s{1,8}(load|bootstrap|enable|submit)\b/
    $key = "<key>RunAtLoad</key>"
  condition:
    any of them
}

rule persist_systemd_user {
  meta:
    id = "persist.systemd-unit"
    family = "persistence"
    severity = "medium"
    doc_severity = "low"
    message = "installs or enables a systemd unit; a skill must not install background services"
  strings:
    $dir = /(\.config|etc)\/systemd\/(user|system)\/[^\s"']{1,120}\.(service|timer)/
    $enable = /\bsystemctl\s{1,8}(--user\s{1,8})?(enable|daemon-reload)\b/
  condition:
    any of them
}

rule persist_windows_autorun {
  meta:
    id = "persist.windows-autorun"
    family = "persistence"
    severity = "high"
    doc_severity = "medium"
    message = "adds a Windows autorun entry (Run key, scheduled task, Startup folder); a skill must not install itself"
  strings:
    $run = /CurrentVersion\\{1,2}Run(Once)?\b/ nocase
    $task = /\bschtasks(\.exe)?\s{1,8}\/create\b/ nocase
    $regtask = /\b(Register-ScheduledTask|New-ScheduledTaskTrigger)\b/ nocase
    $startup = /Start Menu\\{1,2}Programs\\{1,2}Startup/ nocase
  condition:
    any of them
}
