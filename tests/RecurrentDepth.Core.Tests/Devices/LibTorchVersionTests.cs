using RecurrentDepth.Devices;
using RecurrentDepth.Tests.TestSupport;

namespace RecurrentDepth.Tests.Devices;

/// <summary>The libtorch version is read from the files each distribution puts beside its lib folder.</summary>
public sealed class LibTorchVersionTests
{
    [Theory]
    [InlineData("version.py", "__version__ = '2.10.0+cu128'\ndebug = False\n", "2.10.0+cu128")]
    [InlineData("version.py", "from typing import Optional\n__version__: str = '2.9.1+cu126'\n", "2.9.1+cu126")]
    [InlineData("build-version", "2.10.0+cpu\n", "2.10.0+cpu")]
    public void The_version_file_next_to_the_lib_folder_gives_the_version(string file, string content, string expected)
    {
        using var temp = new TempFolder();
        var lib = Directory.CreateDirectory(temp.File("lib")).FullName;
        File.WriteAllText(temp.File(file), content);

        Assert.Equal(expected, LibTorchVersion.Find(lib));
    }

    [Fact]
    public void A_nuget_package_layout_gives_the_nuspec_version()
    {
        using var temp = new TempFolder();
        var native = Directory.CreateDirectory(temp.File("runtimes/linux-x64/native")).FullName;
        File.WriteAllText(temp.File("libtorch-cpu-linux-x64.nuspec"), "<package><metadata><version>2.10.0</version></metadata></package>");

        Assert.Equal("2.10.0", LibTorchVersion.Find(native));
    }

    [Fact]
    public void A_folder_with_no_version_file_gives_null()
    {
        using var temp = new TempFolder();
        Assert.Null(LibTorchVersion.Find(Directory.CreateDirectory(temp.File("a/b/lib")).FullName));
    }

    [Theory]
    [InlineData("2.10.0+cu128", true)]
    [InlineData("2.10.0.0", true)]
    [InlineData("2.10", true)]
    [InlineData("2.1.0", false)]
    [InlineData("2.9.1", false)]
    public void Versions_agree_when_major_and_minor_do(string found, bool same) => Assert.Equal(same, LibTorchVersion.SameMinor(found, "2.10.0"));
}
