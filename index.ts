import { gpushareProgram } from "./stacks/program";

const outputs = gpushareProgram();

export const kubeconfig = outputs.kubeconfig;
export const servers = outputs.servers;
export const capacity = outputs.capacity;
export const grafanaAdminPassword = outputs.grafanaAdminPassword;
export const sharing = outputs.sharing;
