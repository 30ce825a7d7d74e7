using System.Text;
using Aica.Native;

namespace Aica.Cli;

/// <summary>
/// Under systemd, stderr is a stream to journald; a line that starts with <c>&lt;N&gt;</c> is filed at syslog priority N
/// (sd-daemon(3), SyslogLevelPrefix=yes is the default). aica's stderr carries its failures, warnings and notes, so
/// each line gets the priority its tag says: <c>&lt;3&gt;</c> [FAIL]/[ERROR] and "aica CMD: error", <c>&lt;4&gt;</c>
/// [WARN]/[ALERT], <c>&lt;6&gt;</c> the rest. Only when JOURNAL_STREAM names stderr itself (its dev:ino, as
/// sd_journal_stream_fd documents): a terminal, a file or a pipe that happens to inherit the variable sees no prefix.
/// </summary>
public static class JournalPriorities
{
    public const int Error = 3, Warning = 4, Info = 6;

    /// <summary>True when <paramref name="journalStream"/> ("DEV:INO") is the identity of descriptor 2 (stat'd only when the variable is set: every run starts here).</summary>
    public static bool StderrIsJournal(string? journalStream) => !string.IsNullOrEmpty(journalStream) && Matches(journalStream, Sys.DescriptorIdentity(2));

    public static bool Matches(string? journalStream, (ulong Dev, ulong Ino)? fd)
    {
        if (string.IsNullOrEmpty(journalStream) || fd is not { } id) return false;
        var colon = journalStream.IndexOf(':');
        return colon > 0 && ulong.TryParse(journalStream.AsSpan(0, colon), out var dev) && ulong.TryParse(journalStream.AsSpan(colon + 1), out var ino)
            && dev == id.Dev && ino == id.Ino;
    }

    /// <summary>The priority of one stderr line, from its start.</summary>
    public static int Of(ReadOnlySpan<byte> line)
    {
        if (line.StartsWith("[FAIL]"u8) || line.StartsWith("[ERROR]"u8)) return Error;
        if (line.StartsWith("[WARN]"u8) || line.StartsWith("[ALERT]"u8)) return Warning;
        // ErrorFilter's and the usage checks' one-line errors: "aica: ..." or "aica CMD: ...".
        if (line.StartsWith("aica"u8) && line.Length > 4 && line[4] is (byte)':' or (byte)' ' && line.IndexOf(": "u8) > 0) return Error;
        return Info;
    }

    /// <summary>Prefixes each line written through it; a line split over several writes is classified by its first part.</summary>
    public sealed class PrefixStream(Stream inner) : WriteOnlyStream
    {
        private bool _atLineStart = true;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var outBuf = new List<byte>(buffer.Length + 8);
            while (buffer.Length > 0)
            {
                var nl = buffer.IndexOf((byte)'\n');
                var line = nl < 0 ? buffer : buffer[..(nl + 1)];
                if (_atLineStart) outBuf.AddRange(Encoding.ASCII.GetBytes($"<{Of(line)}>"));
                outBuf.AddRange(line);
                _atLineStart = nl >= 0;
                buffer = buffer[line.Length..];
            }
            inner.Write(outBuf.ToArray());
        }

        public override void Flush() => inner.Flush();
    }
}
