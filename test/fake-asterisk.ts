import net, { type AddressInfo } from 'node:net';
import { type AmiMessage, AmiParser } from '../src/telephony/asterisk-ami.js';

export type Script = (socket: net.Socket) => Promise<void>;

/** A fake Asterisk manager: one script per accepted connection, run after the login exchange. */
export class FakeAsterisk {
  readonly logins: AmiMessage[] = [];
  connections = 0;
  private sockets = new Set<net.Socket>();
  private server = net.createServer((socket) => this.accept(socket));

  constructor(private scripts: Array<Script | 'refuse-login'>) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  private accept(socket: net.Socket): void {
    const script = this.scripts[this.connections++];
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('Asterisk Call Manager/5.0.3\r\n');
    const parser = new AmiParser(false);
    socket.on('data', (chunk: Buffer) => {
      for (const m of parser.push(chunk)) {
        if (m.Action !== 'Login') continue;
        this.logins.push(m);
        if (script === 'refuse-login' || script === undefined) {
          socket.end(`Response: Error\r\nActionID: ${m.ActionID}\r\nMessage: Authentication failed\r\n\r\n`);
          return;
        }
        socket.write(
          `Response: Success\r\nActionID: ${m.ActionID}\r\nMessage: Authentication accepted\r\n\r\n` +
            'Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 4031\r\nLastReload: 4031\r\nStatus: Fully Booted\r\n\r\n',
        );
        void script(socket);
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
