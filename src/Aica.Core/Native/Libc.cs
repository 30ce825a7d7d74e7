using System.Runtime.InteropServices;

namespace Aica.Native;

/// <summary>
/// Raw libc bindings. Linked directly into the static binary (DirectPInvoke), so errno
/// is the real one. Everything here is domain-free; see <see cref="Sys"/> for the checked wrappers.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    [LibraryImport(Lib, SetLastError = true)] internal static partial int openat(int dirfd, byte* path, int flags, uint mode);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int statx(int dirfd, byte* path, int flags, uint mask, StatxBuf* buf);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fchownat(int dirfd, byte* path, uint uid, uint gid, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fchown(int fd, uint uid, uint gid);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fchmodat(int dirfd, byte* path, uint mode, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fchmod(int fd, uint mode);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int mkdirat(int dirfd, byte* path, uint mode);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int symlinkat(byte* target, int dirfd, byte* linkpath);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint readlinkat(int dirfd, byte* path, byte* buf, nint size);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int renameat2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int unlinkat(int dirfd, byte* path, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fstatvfs(int fd, StatvfsBuf* buf);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fsync(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int syncfs(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint flistxattr(int fd, byte* list, nint size);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint fgetxattr(int fd, byte* name, byte* value, nint size);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fsetxattr(int fd, byte* name, byte* value, nint size, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial uint umask(uint mask);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fcntl(int fd, int cmd, Flock* arg);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int flock(int fd, int operation);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint read(int fd, byte* buf, nint count);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint write(int fd, byte* buf, nint count);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint getdents64(int fd, byte* buf, nint count);
    [LibraryImport(Lib, SetLastError = true)] internal static partial long lseek(int fd, long offset, int whence);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int ftruncate(int fd, long length);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int futimens(int fd, Timespec* times);
    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)] internal static partial int fcntl_dupfd(int fd, int cmd, int minFd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int getrlimit(int resource, RLimit* rlim);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int setrlimit(int resource, RLimit* rlim);
    [LibraryImport(Lib)] internal static partial uint getuid();
    [LibraryImport(Lib)] internal static partial uint geteuid();
    [LibraryImport(Lib)] internal static partial uint getgid();
    [LibraryImport(Lib)] internal static partial int getpid();
    [LibraryImport(Lib, SetLastError = true)] internal static partial int kill(int pid, int sig);
    [LibraryImport(Lib)] internal static partial int isatty(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int ioctl(int fd, nuint request, ushort* winsize);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int gethostname(byte* name, nint len);

    [StructLayout(LayoutKind.Sequential)]
    internal struct StatxTimestamp { public long tv_sec; public uint tv_nsec; public int reserved; }

    /// <summary>struct statx: 256 bytes, the same on x86_64 and aarch64 (unlike struct stat).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    internal struct StatxBuf
    {
        public uint stx_mask;
        public uint stx_blksize;
        public ulong stx_attributes;
        public uint stx_nlink;
        public uint stx_uid;
        public uint stx_gid;
        public ushort stx_mode;
        public ushort spare0;
        public ulong stx_ino;
        public ulong stx_size;
        public ulong stx_blocks;
        public ulong stx_attributes_mask;
        public StatxTimestamp stx_atime;
        public StatxTimestamp stx_btime;
        public StatxTimestamp stx_ctime;
        public StatxTimestamp stx_mtime;
        public uint stx_rdev_major;
        public uint stx_rdev_minor;
        public uint stx_dev_major;
        public uint stx_dev_minor;
    }

    /// <summary>struct statvfs: 112 bytes on both 64-bit Linux ABIs.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 112)]
    internal struct StatvfsBuf
    {
        public ulong f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, f_fsid, f_flag, f_namemax;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Flock
    {
        public short l_type;
        public short l_whence;
        public long l_start;
        public long l_len;
        public int l_pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Timespec { public long tv_sec; public long tv_nsec; }

    internal struct RLimit { public ulong rlim_cur; public ulong rlim_max; }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Dirent64
    {
        public ulong d_ino;
        public long d_off;
        public ushort d_reclen;
        public byte d_type;
        public byte d_name0; // first byte of the NUL-terminated name
    }
}
