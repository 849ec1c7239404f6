// Java's SimpleDateFormat, the subset Logback's `%d{…}` patterns use (logback-pattern.ts).

const pad = (value: number, width = 2) => String(value).padStart(width, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The subset of Java's SimpleDateFormat that log patterns use. */
export function compileDateFormat(format: string, utc = false): (date: Date) => string {
  const tokens = format.match(/'[^']*'|yyyy|yy|MMM|MM|dd|EEE|HH|hh|mm|ss|SSS|a|XXX|XX|X|Z|[^'yMdEHhmsSaXZ]+|./g) ?? [];
  const parts = tokens.map((token): ((d: Date) => string) => {
    const get = {
      year: (d: Date) => (utc ? d.getUTCFullYear() : d.getFullYear()),
      month: (d: Date) => (utc ? d.getUTCMonth() : d.getMonth()),
      day: (d: Date) => (utc ? d.getUTCDate() : d.getDate()),
      weekday: (d: Date) => (utc ? d.getUTCDay() : d.getDay()),
      hours: (d: Date) => (utc ? d.getUTCHours() : d.getHours()),
      minutes: (d: Date) => (utc ? d.getUTCMinutes() : d.getMinutes()),
      seconds: (d: Date) => (utc ? d.getUTCSeconds() : d.getSeconds()),
      offset: (d: Date) => (utc ? 0 : -d.getTimezoneOffset()),
    };
    const offset = (d: Date, separator: string, zulu: boolean) => {
      const minutes = get.offset(d);
      if (minutes === 0 && zulu) return 'Z';
      const abs = Math.abs(minutes);
      return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${separator}${pad(abs % 60)}`;
    };
    switch (token) {
      case 'yyyy':
        return (d) => pad(get.year(d), 4);
      case 'yy':
        return (d) => pad(get.year(d) % 100);
      case 'MMM':
        return (d) => MONTHS[get.month(d)] ?? '';
      case 'MM':
        return (d) => pad(get.month(d) + 1);
      case 'dd':
        return (d) => pad(get.day(d));
      case 'EEE':
        return (d) => DAYS[get.weekday(d)] ?? '';
      case 'HH':
        return (d) => pad(get.hours(d));
      case 'hh':
        return (d) => pad(get.hours(d) % 12 || 12);
      case 'mm':
        return (d) => pad(get.minutes(d));
      case 'ss':
        return (d) => pad(get.seconds(d));
      case 'SSS':
        return (d) => pad(d.getMilliseconds(), 3);
      case 'a':
        return (d) => (get.hours(d) < 12 ? 'AM' : 'PM');
      case 'XXX':
        return (d) => offset(d, ':', true);
      case 'XX':
      case 'X':
        return (d) => offset(d, '', true);
      case 'Z':
        return (d) => offset(d, '', false);
      default: {
        const text = token.startsWith("'") ? token.slice(1, -1) || "'" : token;
        return () => text;
      }
    }
  });
  return (date) => parts.map((part) => part(date)).join('');
}
