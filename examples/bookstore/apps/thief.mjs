// The thief: tries to buy books without being allowed to. Skiff answers 403.
import { call, every } from './mesh-http.mjs';

let denied = 0;
let stolen = 0;
every(200, async () => {
  const res = await call('POST', 'http://bookstore.bookstore/books/1/buy');
  if (res.status === 403) denied++;
  else if (res.status === 200) stolen++;
});
setInterval(() => {
  console.log(`thief: last 10s ${denied} denied (403), ${stolen} got through`);
  denied = stolen = 0;
}, 10_000);
