import { bar, progressView } from './progress';

function stream(isTTY: boolean): NodeJS.WriteStream & { written: string } {
  const fake = { isTTY, written: '', write: (text: string) => ((fake.written += text), true) };
  return fake as unknown as NodeJS.WriteStream & { written: string };
}

describe('progressView', () => {
  it('redraws one bar in place on a terminal and clears it before a log line and at the end', () => {
    const tty = stream(true);
    const view = progressView(tty, true);
    view.progress(1, 4, 'step one');
    view.progress(2, 4, undefined);
    view.log('log info: halfway');
    view.progress(4, 4, undefined);
    view.end();
    expect(tty.written).toBe(
      `${bar(0.25)} 1/4 step one` +
        `\r\x1b[2K${bar(0.5)} 2/4` +
        '\r\x1b[2Klog info: halfway\n' +
        `${bar(1)} 4/4` +
        '\r\x1b[2K',
    );
  });

  it('writes one plain line per progress elsewhere (no carriage returns, no escapes)', () => {
    const pipe = stream(false);
    const view = progressView(pipe, true);
    view.progress(1, 3, 'warming up');
    view.progress(7, undefined, undefined);
    view.end();
    expect(pipe.written).toBe('progress 1/3 warming up\nprogress 7\n');
  });

  it('shows nothing when disabled (--output json prints the events instead)', () => {
    const tty = stream(true);
    const view = progressView(tty, false);
    view.progress(1, 2, undefined);
    view.log('x');
    expect(tty.written).toBe('');
  });
});

describe('bar', () => {
  it('fills in proportion and clamps', () => {
    expect(bar(0)).toBe(`[${'·'.repeat(30)}]   0%`);
    expect(bar(0.5)).toBe(`[${'#'.repeat(15)}${'·'.repeat(15)}]  50%`);
    expect(bar(2)).toBe(`[${'#'.repeat(30)}] 100%`);
    expect(bar(Number.NaN)).toBe(bar(0));
  });
});
