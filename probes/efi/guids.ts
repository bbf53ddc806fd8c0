import { formatGuid } from '../../bytes/guid.js';

/**
 * The GUIDs an edk2 non-volatile variable store is recognised by, under
 * edk2's own names, as lower-case canonical text (the form efivarfs uses).
 */

/** EFI_SYSTEM_NV_DATA_FV_GUID: FileSystemGuid of the NV data FV (MdeModulePkg/Include/Guid/SystemNvDataGuid.h). */
export const gEfiSystemNvDataFvGuid = 'fff12b8d-7696-4c8b-a985-2747075b4f50';
/** EDKII_WORKING_BLOCK_SIGNATURE_GUID: FTW working block signature (SystemNvDataGuid.h). */
export const gEdkiiWorkingBlockSignatureGuid = '9e58292b-7c68-497d-a0ce-6500fd9f1b95';
/** EFI_VARIABLE_GUID: VARIABLE_STORE_SIGNATURE (MdeModulePkg/Include/Guid/VariableFormat.h). */
export const gEfiVariableGuid = 'ddcf3616-3275-4164-98b6-fe85707ffe7d';
/** EFI_AUTHENTICATED_VARIABLE_GUID: AUTHENTICATED_VARIABLE_STORE_SIGNATURE (VariableFormat.h). */
export const gEfiAuthenticatedVariableGuid = 'aaf32c78-947b-439a-a180-2e144ec37792';

/** An EFI_GUID (UEFI 2.10 Appendix A: Data1-3 little-endian) as lower-case canonical text. */
export function guidText(bytes: Uint8Array, offset = 0): string {
  return formatGuid(bytes, offset).toLowerCase();
}
