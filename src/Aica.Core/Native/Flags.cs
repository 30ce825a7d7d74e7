using System.Runtime.InteropServices;

namespace Aica.Native;

/// <summary>Open/at flags and errno values; the two that differ between x86_64 and aarch64 are chosen at run time.</summary>
public static class Flags
{
    private static readonly bool Arm = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;
    public const int O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    public static readonly int O_DIRECTORY = Arm ? 0x4000 : 0x10000;
    public static readonly int O_NOFOLLOW = Arm ? 0x8000 : 0x20000;

    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public const uint STATX_BASIC_STATS = 0x7ff;
    public const uint RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;

    public const int F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const short F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    public const int LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11, EACCES = 13, EBUSY = 16, EEXIST = 17,
        EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28, EROFS = 30, EMLINK = 31, ENAMETOOLONG = 36, ENOTEMPTY = 39, ELOOP = 40,
        ERANGE = 34, ENODATA = 61, EOPNOTSUPP = 95, ESTALE = 116, EDQUOT = 122;

    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000,
        S_IFCHR = 0x2000, S_IFBLK = 0x6000;
    public const uint S_ISUID = 0x800, S_ISGID = 0x400, S_ISVTX = 0x200;
}

/// <summary>File modes written the way admins read them: <c>O(2775)</c> is octal 2775 (C# has no octal literals).</summary>
public static class Perms
{
    public static uint O(int octalDigits)
    {
        uint v = 0, mul = 1;
        for (var d = octalDigits; d > 0; d /= 10, mul *= 8)
        {
            var digit = (uint)(d % 10);
            if (digit > 7) throw new ArgumentOutOfRangeException(nameof(octalDigits), $"{octalDigits} is not octal");
            v += digit * mul;
        }
        return v;
    }
}
